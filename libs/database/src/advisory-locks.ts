/**
 * Every PostgreSQL advisory lock key the application takes, in one place so
 * that no two jobs share a key by accident. Four ASCII letters each.
 */
export const ADVISORY_LOCKS = Object.freeze({
  /** Held while migrating, so that processes starting together apply each migration once. */
  migrations: 0x43_54_4d_47, // 'CTMG'
  /** The stale-lease sweep: one process sweeps at a time. */
  staleLeaseSweep: 0x43_54_53_4c, // 'CTSL'
  /** The retention sweep: one process purges at a time. */
  retentionSweep: 0x43_54_52_54, // 'CTRT'
  /** The webhook retention sweep: one process purges delivered and given-up events at a time. */
  webhookRetention: 0x43_54_57_48, // 'CTWH'
  /** The task counters' compaction (transaction-scoped). */
  countsCompaction: 0x43_54_43_43, // 'CTCC'
  /**
   * Fair claims, per workspace (transaction-scoped, two-key form: this class
   * and hashtext(workspace_id)): claims of one workspace run one at a time,
   * so that together they never exceed its cap (cleanup_tasks_free_slots).
   */
  workspaceClaim: 0x43_54_57_43, // 'CTWC'
});

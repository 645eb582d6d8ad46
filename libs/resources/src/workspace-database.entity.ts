import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A workspace's database: a real PostgreSQL schema (`schemaName`) in this database, owned by the row. */
@Entity({ name: 'databases' })
export class WorkspaceDatabase {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'workspace_id', type: 'text' })
  workspaceId: string;

  @Column({ type: 'text' })
  name: string;

  /** `wsdb_…`: dropped (CASCADE) by `delete_database`. */
  @Column({ name: 'schema_name', type: 'text' })
  schemaName: string;

  /** Fault injection: the next N deletions fail; negative, every one does. */
  @Column({ name: 'fail_deletes', type: 'integer', default: 0 })
  failDeletes: number;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}

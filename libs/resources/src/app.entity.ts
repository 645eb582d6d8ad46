import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An app of a workspace; it holds elements. */
@Entity({ name: 'apps' })
export class App {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'workspace_id', type: 'text' })
  workspaceId: string;

  @Column({ type: 'text' })
  name: string;

  /** Fault injection: the next N deletions fail; negative, every one does. */
  @Column({ name: 'fail_deletes', type: 'integer', default: 0 })
  failDeletes: number;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}

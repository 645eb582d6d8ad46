import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An element of an app. */
@Entity({ name: 'elements' })
export class Element {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'workspace_id', type: 'text' })
  workspaceId: string;

  @Column({ name: 'app_id', type: 'text' })
  appId: string;

  @Column({ type: 'text' })
  name: string;

  /** Fault injection: the next N deletions fail; negative, every one does. */
  @Column({ name: 'fail_deletes', type: 'integer', default: 0 })
  failDeletes: number;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}

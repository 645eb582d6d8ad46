import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A workspace of the reference resource model; deleting one is a `delete_workspace` task tree. */
@Entity({ name: 'workspaces' })
export class Workspace {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  name: string;

  /** Fault injection: the next N deletions fail; negative, every one does. */
  @Column({ name: 'fail_deletes', type: 'integer', default: 0 })
  failDeletes: number;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}

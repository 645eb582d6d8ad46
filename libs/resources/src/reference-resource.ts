import { Column, PrimaryColumn } from 'typeorm';

/** The columns every reference resource row has (not an entity itself). */
export abstract class ReferenceResource {
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

/** A resource that belongs to a workspace (apps, elements, databases). */
export abstract class WorkspaceResource extends ReferenceResource {
  @Column({ name: 'workspace_id', type: 'text' })
  workspaceId: string;
}

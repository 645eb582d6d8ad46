import { Column, Entity } from 'typeorm';
import { WorkspaceResource } from './reference-resource';

/** A workspace's database: a real PostgreSQL schema (`schemaName`) in this database, owned by the row. */
@Entity({ name: 'databases' })
export class WorkspaceDatabase extends WorkspaceResource {
  /** `wsdb_…`: dropped (CASCADE) by `delete_database`. */
  @Column({ name: 'schema_name', type: 'text' })
  schemaName: string;
}

import { Entity } from 'typeorm';
import { ReferenceResource } from './reference-resource';

/** A workspace of the reference resource model; deleting one is a `delete_workspace` task tree. */
@Entity({ name: 'workspaces' })
export class Workspace extends ReferenceResource {}

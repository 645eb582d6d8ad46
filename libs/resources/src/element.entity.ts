import { Column, Entity } from 'typeorm';
import { WorkspaceResource } from './reference-resource';

/** An element of an app. */
@Entity({ name: 'elements' })
export class Element extends WorkspaceResource {
  @Column({ name: 'app_id', type: 'text' })
  appId: string;
}

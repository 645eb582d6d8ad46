import { Entity } from 'typeorm';
import { WorkspaceResource } from './reference-resource';

/** An app of a workspace; it holds elements. */
@Entity({ name: 'apps' })
export class App extends WorkspaceResource {}

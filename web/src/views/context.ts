import type { LiveHub } from '../live.js';
import type { Route } from '../router.js';
import type { Claims } from '../session.js';

/** What a view gets: its route, the shared live stream and who is signed in. */
export interface ViewContext {
  route: Route;
  live: LiveHub;
  claims: Claims | undefined;
  /** Goes to a hash route (a new history entry). */
  navigate(hash: string): void;
  /** Renders the current route again (after sign-in, or a "try again"). */
  refresh(): void;
  /** Sign out and show the sign-in form, saying why. */
  signOut(reason?: string): void;
}

/** Mounts a view into `root`; returns what to do when it goes away. */
export type View = (root: HTMLElement, context: ViewContext) => (() => void) | void;

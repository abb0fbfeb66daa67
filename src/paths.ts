/** Absolute paths inside the installed project, independent of the process's working directory. */
import { fileURLToPath } from 'node:url';

/** The project root (the folder holding package.json). */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** Resolves a path relative to the project root. */
export function fromRoot(...parts: string[]): string {
  return fileURLToPath(new URL(parts.join('/'), new URL('..', import.meta.url)));
}

import { nanoid } from 'nanoid';

/** Makes actor ids. Must return a new, process-unique string on every call. */
export type IdGenerator = () => string;

/** The default: nanoid's URL-safe 21-character ids. */
export const nanoIds: IdGenerator = () => nanoid();

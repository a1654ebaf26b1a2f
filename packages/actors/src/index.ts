/**
 * @troupe/actors — reusable actors built only on @troupe/runtime's public API.
 *
 * @packageDocumentation
 */
export * from './topic/index.js';

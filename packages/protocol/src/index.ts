export * from './errors.js';
export * from './dsn.js';
export * from './auth.js';
export * from './envelope.js';
export * from './event.js';

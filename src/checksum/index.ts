export * from './algorithms.ts';

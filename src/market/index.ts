// Market data: candle files, validation, resampling, synthetic data and the feeds the engine consumes.

export * from './csv.ts';
export * from './validator.ts';
export * from './resample.ts';
export * from './generator.ts';
export * from './feed.ts';
export { ReplayFeed, type ReplayFeedOptions } from './replay-feed.ts';
export * from './live-feed.ts';

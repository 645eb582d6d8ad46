import { Module } from '@nestjs/common';
import { RateLimitHitsRepository } from './rate-limit-hits.repository';
import { SharedRateLimitStore } from './shared-rate-limit.store';

/** The request budgets every API process shares (the store the rate limiter counts in, and its flush and purge jobs). */
@Module({
  providers: [RateLimitHitsRepository, SharedRateLimitStore],
  exports: [SharedRateLimitStore],
})
export class RateLimitModule {}

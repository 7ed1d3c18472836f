import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { Merchant } from './merchant.entity.js';

/** How long a merchant lookup is trusted; merchants are added rarely and never removed while paying. */
const CACHE_MS = 30_000;

/** Answers "is this merchant known?" from PostgreSQL, remembered briefly so the hot path rarely asks. */
@Injectable()
export class MerchantDirectory {
  private readonly known = new Map<string, number>();

  constructor(@InjectRepository(Merchant) private readonly merchants: Repository<Merchant>) {}

  async isKnown(merchantId: string): Promise<boolean> {
    const until = this.known.get(merchantId);
    if (until !== undefined && until > Date.now()) return true;
    const exists = await this.merchants.existsBy({ id: merchantId });
    if (exists) this.known.set(merchantId, Date.now() + CACHE_MS);
    return exists;
  }
}

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, type Repository } from 'typeorm';
import { Merchant } from './merchant.entity.js';

/** How long a merchant lookup is trusted; merchants are added rarely and never removed while paying. */
const CACHE_MS = 30_000;

/** The `merchants` table: answers "is this merchant known?", remembered briefly so the hot path rarely asks. */
@Injectable()
export class MerchantsRepository {
  private readonly known = new Map<string, number>();

  constructor(@InjectRepository(Merchant) private readonly merchants: Repository<Merchant>) {}

  /** The merchants among these that exist: one query for those not remembered, none on the hot path. */
  async knownAmong(merchantIds: ReadonlySet<string>): Promise<ReadonlySet<string>> {
    const now = Date.now();
    const known = new Set<string>();
    const unsure: string[] = [];
    for (const id of merchantIds) {
      if ((this.known.get(id) ?? 0) > now) known.add(id);
      else unsure.push(id);
    }
    if (unsure.length === 0) return known;
    const found = await this.merchants.find({ select: { id: true }, where: { id: In(unsure) } });
    for (const { id } of found) {
      known.add(id);
      this.known.set(id, now + CACHE_MS);
    }
    return known;
  }
}

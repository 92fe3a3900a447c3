// The round a request executes at: for orders and LP requests alike, the first round of a market's feed
// updated at or after the request's `notBefore`. The one piece of code that finds execution rounds.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Contract, type Provider } from "ethers";
import type { Deployment } from "../chain/deployment.js";

const FEED_ABI = [
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function getRoundData(uint80 roundId) view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
];
/** Chainlink proxies number rounds `phase << 64 | round`; round 1 of a phase has no predecessor in it. */
const PHASE_ROUND_MASK = (1n << 64n) - 1n;

/**
 * Finds execution rounds. A round's timestamp never changes, so each is read once per feed; the latest
 * round is read again on every `refresh`.
 */
export class RoundFinder {
  private readonly times = new Map<string, Map<bigint, bigint | null>>();
  private readonly latest = new Map<string, { roundId: bigint; updatedAt: bigint }>();

  constructor(readonly provider: Provider) {}

  private feed(address: string) {
    return new Contract(address, FEED_ABI, this.provider);
  }

  /** Forgets the latest rounds (call once per block). */
  refresh() {
    this.latest.clear();
  }

  async latestRound(feed: string) {
    let l = this.latest.get(feed);
    if (!l) {
      const r = await this.feed(feed).latestRoundData();
      l = { roundId: r.roundId as bigint, updatedAt: r.updatedAt as bigint };
      this.latest.set(feed, l);
      this.remember(feed, l.roundId, l.updatedAt);
    }
    return l;
  }

  private remember(feed: string, roundId: bigint, updatedAt: bigint | null) {
    let m = this.times.get(feed);
    if (!m) this.times.set(feed, (m = new Map()));
    m.set(roundId, updatedAt);
  }

  /** A round's updatedAt, or null when the feed has no such round (it reverts or answers zeros). */
  async updatedAt(feed: string, roundId: bigint): Promise<bigint | null> {
    const known = this.times.get(feed)?.get(roundId);
    if (known !== undefined) return known;
    let at: bigint | null;
    try {
      const r = await this.feed(feed).getRoundData(roundId);
      at = (r.updatedAt as bigint) === 0n ? null : (r.updatedAt as bigint);
    } catch {
      at = null;
    }
    this.remember(feed, roundId, at);
    return at;
  }

  /**
   * The first round of `feed` updated at or after `notBefore`, walking back from the latest round until the
   * one before is earlier; undefined while no round has reached `notBefore`.
   */
  async first(feed: string, notBefore: bigint): Promise<bigint | undefined> {
    const { roundId, updatedAt } = await this.latestRound(feed);
    if (updatedAt < notBefore) return undefined;
    let id = roundId;
    while ((id & PHASE_ROUND_MASK) > 1n) {
      const previous = await this.updatedAt(feed, id - 1n);
      if (previous === null || previous < notBefore) break;
      id -= 1n;
    }
    return id;
  }
}

/** Each market's feed address, read once (a market's oracle never changes). */
export class MarketFeeds {
  private readonly feeds = new Map<bigint, Promise<string>>();

  constructor(
    readonly ethers: HardhatEthers,
    readonly d: Pick<Deployment, "lens">,
  ) {}

  feedOf(marketId: bigint): Promise<string> {
    let f = this.feeds.get(marketId);
    if (!f) {
      f = (async () => {
        const m = await this.d.lens.getMarket(marketId);
        const oracle = await this.ethers.getContractAt("ChainlinkOracle", m.oracle);
        return oracle.feed();
      })();
      f.catch(() => this.feeds.delete(marketId));
      this.feeds.set(marketId, f);
    }
    return f;
  }
}

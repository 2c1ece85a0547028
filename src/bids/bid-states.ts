// The bid's status machine. placeBid creates a bid MATCHED (with its HELD reservation) or OPEN; a
// matched bid ends with its reservation. bids.service.ts, reservations.service.ts,
// rematch.ts and sweeper.ts move bids by this table; docs/domain.md shows it.
import { bidStatus } from "../db/schema.js";
import type { StateMachine } from "../states.js";

export type BidStatus = (typeof bidStatus.enumValues)[number];

export type BidEvent =
  /** A re-match found it an offer (and made its HELD reservation). */
  | "matched"
  /** The SME's cancelBid on an OPEN bid (a MATCHED one is cancelled through its reservation). */
  | "cancelBid"
  /** Its latest possible start (latestEnd - hours) passed while it was OPEN. */
  | "stale"
  /** Its reservation was cancelled: by cancelBid while HELD, or as its order failed, was cancelled or refunded. */
  | "reservationCancelled"
  /** Its reservation's hold lapsed. */
  | "holdLapsed";

export const bidStates: StateMachine<BidStatus, BidEvent> = {
  name: "bid",
  states: bidStatus.enumValues,
  initial: ["OPEN", "MATCHED"],
  moves: [
    { from: "OPEN", to: "MATCHED", on: "matched" },
    { from: "OPEN", to: "CANCELLED", on: "cancelBid" },
    { from: "OPEN", to: "EXPIRED", on: "stale" },
    { from: "MATCHED", to: "CANCELLED", on: "reservationCancelled" },
    { from: "MATCHED", to: "EXPIRED", on: "holdLapsed" },
  ],
};

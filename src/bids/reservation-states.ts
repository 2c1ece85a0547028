// The reservation's status machine. A reservation is created HELD when its bid is matched; it is
// paid for, lapses, or is cancelled with its bid or its order. reservations.service.ts,
// bids.service.ts and rematch.ts move reservations by this table; docs/domain.md shows it.
import { reservationStatus } from "../db/schema.js";
import type { StateMachine } from "../states.js";

export type ReservationStatus = (typeof reservationStatus.enumValues)[number];

export type ReservationEvent =
  /** Its order is paid. */
  | "orderPaid"
  /** The hold lapsed (EXPIRED at once in every read; written by the maintenance or a new bid that meets it). */
  | "holdLapsed"
  /** The SME's cancelBid on its matched bid. */
  | "cancelBid"
  /** Its order failed, or was cancelled before payment. */
  | "orderUnpaid"
  /** Its paid order was cancelled, and refunded. */
  | "orderRefunded";

export const reservationStates: StateMachine<ReservationStatus, ReservationEvent> = {
  name: "reservation",
  states: reservationStatus.enumValues,
  initial: ["HELD"],
  moves: [
    { from: "HELD", to: "CONFIRMED", on: "orderPaid" },
    { from: "HELD", to: "EXPIRED", on: "holdLapsed" },
    { from: "HELD", to: "CANCELLED", on: "cancelBid" },
    { from: "HELD", to: "CANCELLED", on: "orderUnpaid" },
    { from: "CONFIRMED", to: "CANCELLED", on: "orderRefunded" },
  ],
};

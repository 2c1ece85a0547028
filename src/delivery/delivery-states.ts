// The delivery's status machine. A CONFIRMED reservation that ended awaits its delivery report (no
// row yet); the operator reports it, the SME may dispute it, the grace period or the admin makes it
// final, with the credit for what was not delivered. delivery.service.ts moves deliveries by this
// table; docs/domain.md shows it.
import { deliveryStatus } from "../db/schema.js";
import type { StateMachine } from "../states.js";

export type DeliveryStatus = (typeof deliveryStatus.enumValues)[number];

export type DeliveryEvent =
  /** The SME's disputeDelivery, within the grace period. */
  | "disputeDelivery"
  /** The grace period passed without a dispute (the maintenance). */
  | "graceEnded"
  /** The admin's correctDelivery: figures set, dispute resolved. */
  | "correctDelivery";

export const deliveryStates: StateMachine<DeliveryStatus, DeliveryEvent> = {
  name: "delivery",
  states: deliveryStatus.enumValues,
  // reportDelivery creates REPORTED, a dispute before any report DISPUTED, the maintenance (nothing
  // reported within the grace period) and the admin's correction FINAL.
  initial: ["REPORTED", "DISPUTED", "FINAL"],
  moves: [
    { from: "REPORTED", to: "DISPUTED", on: "disputeDelivery" },
    { from: "REPORTED", to: "FINAL", on: "graceEnded" },
    { from: "REPORTED", to: "FINAL", on: "correctDelivery" },
    { from: "DISPUTED", to: "FINAL", on: "correctDelivery" },
  ],
};

// Roles are checked by type-graphql's @Authorized; tenant checks live in the services.
import type { AuthChecker } from "type-graphql";
import type { Context } from "./context.js";
import { forbidden } from "../errors.js";
import { unauthenticated } from "./errors.js";

export const authChecker: AuthChecker<Context> = ({ context }, roles) => {
  if (!context.viewer) throw unauthenticated();
  if (roles.length === 0 || roles.includes(context.viewer.role)) return true;
  throw forbidden(`This needs the role ${roles.join(" or ")}`);
};

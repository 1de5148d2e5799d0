// A small frontend's use of the generated types: `make client` regenerates schema.d.ts and
// type-checks this file against it, so a change to the document that breaks a frontend fails.
import type { components, paths } from "./schema";

type BookPage =
  paths["/api/v1/books"]["get"]["responses"][200]["content"]["application/json"];
type Order = components["schemas"]["Order"];
type ApiError = components["schemas"]["Error"];
type CheckoutBody = NonNullable<
  paths["/api/v1/checkout"]["post"]["requestBody"]
>["content"]["application/json"];

export function firstTitle(page: BookPage): string | undefined {
  return page.items?.[0]?.title;
}

export function isFinal(order: Order): boolean {
  const waiting: Array<Order["status"]> = ["pending", "awaiting_payment"];
  return !waiting.includes(order.status);
}

export function describe(error: ApiError): string {
  return `${error.error}: ${error.message}`;
}

export const guestCheckout: CheckoutBody = {
  shipping_address: {
    name: "Ada Lovelace",
    line1: "1 Analytical Way",
    city: "London",
    postal_code: "N1 9GU",
    country: "GB",
  },
  shipping_method: "standard",
  payment_method: "pm_card_visa",
  email: "ada@example.com",
};

// Paying the SME's share by card with Stripe.js, on a server configured with Stripe and its
// publishable key (paymentConfiguration). Stripe requires Stripe.js from its own host: the official
// loader (@stripe/stripe-js) adds https://js.stripe.com's script only here, when a payment waits,
// and the page's policy allows that host only on such a server (docs/decisions/0020).
import { useEffect, useRef, useState } from "react";
import type { Stripe, StripeCardElement } from "@stripe/stripe-js";
import { ApiError } from "../api.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Notice } from "../ui.js";

export function StripePay({
  publishableKey,
  clientSecret,
  amount,
  onSent,
}: {
  publishableKey: string;
  clientSecret: string;
  amount: string;
  onSent(): void;
}) {
  const texts = useTexts();
  const { t } = texts;
  const box = useRef<HTMLDivElement>(null);
  const [ready, setReady] = useState<{ stripe: Stripe; card: StripeCardElement } | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<unknown>();
  const [declined, setDeclined] = useState<string | null>(null);

  useEffect(() => {
    let card: StripeCardElement | undefined;
    let stopped = false;
    import("@stripe/stripe-js/pure")
      .then(({ loadStripe }) => loadStripe(publishableKey, { locale: texts.lang === "zh" ? "zh" : "en" }))
      .then((stripe) => {
        if (stopped || !stripe || !box.current) return;
        card = stripe.elements().create("card", { hidePostalCode: true });
        card.mount(box.current);
        setReady({ stripe, card });
      })
      .catch(() => setError(new ApiError({ message: "stripe.js", extensions: { code: "NETWORK" } })));
    return () => {
      stopped = true;
      card?.destroy();
    };
  }, [publishableKey, texts.lang]);

  const pay = async () => {
    if (!ready) return;
    setBusy(true);
    setDeclined(null);
    try {
      const result = await ready.stripe.confirmCardPayment(clientSecret, { payment_method: { card: ready.card } });
      if (result.error) setDeclined(result.error.message ?? t("stripe.declined"));
      else {
        setSent(true);
        onSent();
      }
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  if (sent) return <Notice>{t("stripe.sent")}</Notice>;
  return (
    <div className="stripe-pay">
      <p id="card-label">{t("stripe.cardLabel")}</p>
      <div className="card-box" ref={box} role="group" aria-labelledby="card-label" data-testid="card-element" />
      <button type="button" className="primary" disabled={!ready || busy} onClick={pay}>
        {t("stripe.pay", { amount })}
      </button>
      {declined && (
        <div className="error" role="alert">
          <strong>{declined}</strong>
          <p>{t("stripe.tryAgain")}</p>
        </div>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

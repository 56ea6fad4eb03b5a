"""The billing page of a workspace (owners): plan, trial, seats, storage, next invoice, past invoices; choosing a plan
(through Stripe Checkout, or at once when a card is on file) and Stripe's Customer Portal.

Reachable while the workspace is read-only or suspended for non-payment (the status gate keeps /settings/billing/
open), so that an owner can always pay.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.formatting import limit_text, money_text, size_text
from billing.models import BillingAccount, SubscriptionStatus
from billing.plans import PLANS, Interval, Plan, Resource
from shared_apps.accounts import selectors
from shared_apps.accounts.decorators import action_required
from shared_apps.accounts.http import MemberRequest
from shared_apps.accounts.permissions import Action, NotAllowed, allowed_actions
from shared_apps.core.errors import ApplicationError
from shared_apps.workspaces.services import workspace_plan_change
from tenants.selectors import tenant_url


def _absolute(request: MemberRequest, path: str) -> str:
    return tenant_url(request.route.host) + path


def _chosen(request: MemberRequest, account: BillingAccount | None) -> Plan | None:
    """The paid plan chosen on the pricing page before sign-up (`?plan=`), unless the workspace pays for it already
    (a trial of it still offers the checkout)."""
    chosen = PLANS.get(request.GET.get("plan", "")[:32])
    if chosen is None or chosen.is_free:
        return None
    if account is not None and account.status == SubscriptionStatus.ACTIVE and account.plan == chosen.code:
        return None
    return chosen


@action_required(Action.BILLING_MANAGE)
def billing(request: MemberRequest) -> HttpResponse:
    tenant = request.tenant
    session_id = request.GET.get("checkout", "")
    if session_id:
        result = billing_services.checkout_return(tenant=tenant, session_id=session_id[:255])
        if result is not None:
            account = billing_selectors.account_for(tenant_id=tenant.pk)
            plan = PLANS.get(account.plan) if account else None
            thanks = _("Thank you! %(name)s is on the %(value)s plan now.") % {
                "name": tenant.name,
                "value": plan.name if plan else "new",
            }
            if account is not None and account.status == SubscriptionStatus.TRIALING and account.trial_end:
                thanks += " " + _("The trial goes on until %(day)s; the first charge comes then.") % {
                    "day": date_format(timezone.localtime(account.trial_end), "DATE_FORMAT")
                }
            messages.success(request, thanks)
        return redirect("settings_billing")
    account = billing_selectors.account_for(tenant_id=tenant.pk)
    plan = PLANS.get(account.plan) if account else None
    used = selectors.seats_used(tenant_id=tenant.pk)
    limit = selectors.seat_limit(tenant_id=tenant.pk)
    storage = billing_selectors.storage_used_bytes(schema_name=request.route.schema_name)
    now = timezone.now()
    trial_days_left = None
    if account and account.status == SubscriptionStatus.TRIALING and account.trial_end:
        trial_days_left = max((account.trial_end - now).days + (1 if (account.trial_end - now).seconds else 0), 0)
    storage_limit = plan.limit(Resource.STORAGE_BYTES) if plan else None
    checkout_seats = max(used, 1)  # what Checkout bills (`checkout_start`)
    context = {
        "section": "billing",
        "allowed": {str(a) for a in allowed_actions(request.membership.role)},
        "account": account,
        "plan": plan,
        "status_label": SubscriptionStatus(account.status).label if account else _("No subscription yet"),
        "trial_days_left": trial_days_left,
        "seats_used": used,
        "seat_limit": limit,
        "storage_used": size_text(storage),
        "storage_limit": size_text(storage_limit.value) if storage_limit else "",
        "next_invoice": billing_selectors.next_invoice(account) if account else None,
        "invoices": billing_selectors.invoice_list(account=account) if account else [],
        "plans": [
            {
                "plan": p,
                "month": money_text(p.seat_price[Interval.MONTH], decimals=0),
                "year": money_text(p.seat_price[Interval.YEAR], decimals=0),
                "current": plan is not None and p.code == plan.code,
                "limits": [limit_text(r, p.limit(r)) for r in Resource],
                "month_total": p.seat_price[Interval.MONTH] * checkout_seats,
                "year_total": p.seat_price[Interval.YEAR] * checkout_seats,
            }
            for p in sorted(PLANS.values(), key=lambda p: p.rank)
        ],
        "has_card": bool(account and account.card_last4),
        "checkout_seats": checkout_seats,
        "trial_kept": billing_selectors.trial_kept_by_checkout(account, now=now),
        "chosen_plan": _chosen(request, account),
        "grace_days": settings.BILLING_PAST_DUE_GRACE_DAYS,
    }
    return render(request, "tenant/settings/billing.html", context)


@action_required(Action.BILLING_MANAGE)
@require_POST
def billing_plan(request: MemberRequest) -> HttpResponse:
    plan_code = request.POST.get("plan", "")[:32]
    interval = request.POST.get("interval", "month")[:8]
    back = reverse("settings_billing")
    try:
        change = workspace_plan_change(
            tenant=request.tenant,
            plan_code=plan_code,
            interval=interval,
            acting_user=request.user,
            success_url=_absolute(request, back) + "?checkout={CHECKOUT_SESSION_ID}",
            cancel_url=_absolute(request, back),
        )
    except NotAllowed as exc:
        return render(request, "tenant/settings/forbidden.html", {"reason": exc.message}, status=403)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("settings_billing")
    if change.checkout_url:
        return HttpResponseRedirect(change.checkout_url)
    plan = PLANS[plan_code]
    messages.success(
        request, _("%(name)s is on the %(name2)s plan now.") % {"name": request.tenant.name, "name2": plan.name}
    )
    return redirect("settings_billing")


@action_required(Action.BILLING_MANAGE)
@require_POST
def billing_portal(request: MemberRequest) -> HttpResponse:
    try:
        url = billing_services.portal_start(
            tenant=request.tenant, acting_user=request.user, return_url=_absolute(request, reverse("settings_billing"))
        )
    except NotAllowed as exc:
        return render(request, "tenant/settings/forbidden.html", {"reason": exc.message}, status=403)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("settings_billing")
    return HttpResponseRedirect(url)

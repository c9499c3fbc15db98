from django.core.management.base import BaseCommand, CommandError
from django.test import Client

from portal.demo.network import PASSWORD


class Command(BaseCommand):
    help = "Log in as each demo user and open the pages each one lives in: the demo's smoke test."

    def visit(self, username, urls):
        client = Client()
        # Through the login form, as a person would: the lockout backend wants the request.
        response = client.post("/admin/login/", {"username": username, "password": PASSWORD, "next": "/admin/"})
        if response.status_code != 302:
            raise CommandError(f"demo login {username} failed ({response.status_code})")
        for url in urls:
            response = client.get(url)
            if response.status_code != 200:
                raise CommandError(f"{username}: {url} answered {response.status_code}")
            self.stdout.write(f"{username}: {url} 200")

    def handle(self, *args, **options):
        from interception.models import AfterSale
        from settlement.models import Reconciliation, Statement

        for username in ["cs", "outlet", "finance", "supervisor"]:
            self.visit(username, ["/admin/"])
        self.visit(
            "outlet",
            ["/admin/interception/contract/?state__exact=pending", "/admin/interception/contract/decisions/export/"],
        )
        open_after_sale = AfterSale.objects.filter(state="open").order_by("id").first()
        self.visit(
            "cs",
            [
                "/admin/interception/aftersale/",
                "/admin/interception/interceptionorder/",
                "/admin/interception/interceptionorder/?state__exact=failed&settlement_mode__exact=offline",
                "/admin/interception/interceptionorder/export/?settlement_mode__exact=offline",
                f"/admin/interception/aftersale/{open_after_sale.pk}/intercept/",
                "/admin/interception/parcel/",
                "/admin/interception/carrierevent/",
            ],
        )
        issued = Statement.objects.filter(state="issued").order_by("id").first()
        reconciliation = Reconciliation.objects.order_by("id").first()
        for username in ["finance", "outlet"]:
            self.visit(
                username,
                [
                    "/admin/settlement/statement/",
                    f"/admin/settlement/statement/{issued.pk}/change/",
                    f"/admin/settlement/statement/{issued.pk}/export/csv/",
                    f"/admin/settlement/statement/{issued.pk}/export/xlsx/",
                    f"/admin/settlement/reconciliation/{reconciliation.pk}/change/",
                ],
            )
        self.visit("finance", ["/admin/settlement/statement/generate/", "/admin/settlement/onlinefee/totals/"])
        from claims.models import Claim

        damage = Claim.objects.filter(kind="damage").order_by("id").first()
        photo = damage.evidence.order_by("id").first()
        self.visit(
            "cs",
            [
                "/admin/claims/claim/",
                "/admin/claims/claim/candidates/",
                "/admin/claims/claim/file/",
                f"/admin/claims/claim/{damage.pk}/change/",
                f"/admin/claims/claim/{damage.pk}/evidence/{photo.pk}/",
            ],
        )
        self.visit("outlet", ["/admin/claims/claim/", f"/admin/claims/claim/{damage.pk}/change/"])

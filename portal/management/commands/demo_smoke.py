from django.core.management.base import BaseCommand, CommandError
from django.test import Client

from portal.demo.network import PASSWORD


class Command(BaseCommand):
    help = "Log in as each demo user and open the admin index: the demo's smoke test."

    def handle(self, *args, **options):
        for username in ["cs", "outlet", "finance", "supervisor"]:
            client = Client()
            if not client.login(username=username, password=PASSWORD):
                raise CommandError(f"demo login {username} failed")
            response = client.get("/admin/")
            if response.status_code != 200:
                raise CommandError(f"{username}: /admin/ answered {response.status_code}")
            self.stdout.write(f"{username}: /admin/ 200")
        client = Client()
        client.login(username="outlet", password=PASSWORD)
        for url in ["/admin/interception/contract/?state__exact=pending", "/admin/interception/contract/decisions/export/"]:
            response = client.get(url)
            if response.status_code != 200:
                raise CommandError(f"outlet: {url} answered {response.status_code}")
            self.stdout.write(f"outlet: {url} 200")
        client = Client()
        client.login(username="cs", password=PASSWORD)
        from interception.models import AfterSale

        open_after_sale = AfterSale.objects.filter(state="open").order_by("id").first()
        for url in ["/admin/interception/aftersale/", "/admin/interception/interceptionorder/",
                    "/admin/interception/interceptionorder/?state__exact=failed&settlement_mode__exact=offline",
                    "/admin/interception/interceptionorder/export/?settlement_mode__exact=offline",
                    f"/admin/interception/aftersale/{open_after_sale.pk}/intercept/",
                    "/admin/interception/parcel/", "/admin/interception/carrierevent/"]:
            response = client.get(url)
            if response.status_code != 200:
                raise CommandError(f"cs: {url} answered {response.status_code}")
            self.stdout.write(f"cs: {url} 200")
        from settlement.models import Reconciliation, Statement

        issued = Statement.objects.filter(state="issued").order_by("id").first()
        reconciliation = Reconciliation.objects.order_by("id").first()
        for username in ["finance", "outlet"]:
            client = Client()
            client.login(username=username, password=PASSWORD)
            for url in ["/admin/settlement/statement/", f"/admin/settlement/statement/{issued.pk}/change/",
                        f"/admin/settlement/statement/{issued.pk}/export/csv/",
                        f"/admin/settlement/statement/{issued.pk}/export/xlsx/",
                        f"/admin/settlement/reconciliation/{reconciliation.pk}/change/"]:
                response = client.get(url)
                if response.status_code != 200:
                    raise CommandError(f"{username}: {url} answered {response.status_code}")
                self.stdout.write(f"{username}: {url} 200")
        client = Client()
        client.login(username="finance", password=PASSWORD)
        for url in ["/admin/settlement/statement/generate/", "/admin/settlement/onlinefee/totals/"]:
            response = client.get(url)
            if response.status_code != 200:
                raise CommandError(f"finance: {url} answered {response.status_code}")
            self.stdout.write(f"finance: {url} 200")

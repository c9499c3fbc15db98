from django.core.management.base import BaseCommand
from django.db import transaction

from portal.demo import claims, contracts, interceptions, network, notifications, settlement
from portal.demo.network import LOGINS, PASSWORD


class Command(BaseCommand):
    help = (
        "Load the demo data and logins (idempotent: running it again duplicates nothing; "
        "the merchant API token it prints is a new one each time)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the logins.")

    def handle(self, *args, quiet=False, **options):
        with transaction.atomic():
            world = network.seed(self.stdout, new_token=not quiet)
            notifications.seed(world)
            contracts.seed(world)
            interceptions.seed(world)
            settlement.seed(world)
            claims.seed(world)
        if quiet:
            return
        out = self.stdout.write
        out("")
        out("Portal: http://127.0.0.1:8000/admin/")
        out(f"Logins (password {PASSWORD}):")
        for username, role, label in LOGINS:
            out(f"  {username:<11} {role} ({label})")
        out("Contracts: " + ", ".join(f"{k} {v}" for k, v in contracts.summary().items()))
        out("Interceptions: " + ", ".join(f"{k} {v}" for k, v in interceptions.summary().items()))
        out("Statements: " + ", ".join(f"{k} {v}" for k, v in settlement.summary().items()))
        out("Claims: " + ", ".join(f"{k} {v}" for k, v in claims.summary().items()))
        out(
            "Notifications (e-mail; the demo prints each one its sender delivers, and lists them at "
            "/admin/notifications/notification/): " + ", ".join(f"{k} {v}" for k, v in notifications.summary().items())
        )
        out(f"Merchant API token (M0001, auto-intercept on): {world['merchant_token']}")
        for carrier in world["carriers"].values():
            out(f"Carrier callback secret {carrier.code} (sandbox adapter): {carrier.callback_secret}")
        out("")

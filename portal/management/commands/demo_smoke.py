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

# The daily email follows the account's time zone (accounts.User.time_zone, set on the profile): a zone chosen on
# this workspace's notification preferences is carried over to an account that has none, then the table goes.
from django.db import migrations


def zones_to_accounts(apps, schema_editor):
    EmailSchedule = apps.get_model("notifications", "EmailSchedule")
    User = apps.get_model("accounts", "User")
    for user_id, zone in EmailSchedule.objects.exclude(time_zone__in=["", "UTC"]).values_list("user_id", "time_zone"):
        User.objects.filter(pk=user_id, time_zone="").update(time_zone=zone[:64])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_language_and_time_zone'),
        ('notifications', '0003_daily_digest'),
    ]

    operations = [
        migrations.RunPython(zones_to_accounts, migrations.RunPython.noop),
        migrations.DeleteModel(
            name='EmailSchedule',
        ),
    ]

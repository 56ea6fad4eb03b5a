from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0008_merge_20261207_1606"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="migrations_fingerprint",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
    ]

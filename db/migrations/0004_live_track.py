from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0003_outbox_attachment')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CheckIn',
            name='last_lat',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='CheckIn',
            name='last_lon',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='CheckIn',
            name='last_seen_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]

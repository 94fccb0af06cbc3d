from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0011_outing_policy')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Incident',
            name='nature',
            field=fields.CharField(null=True, max_length=16),
        ),
    ]

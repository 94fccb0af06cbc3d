from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0007_deadlines')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('telegram_id', fields.BigIntField(unique=True)),
                ('person', fields.ForeignKeyField('outpost.Person', source_field='person_id', null=True, db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('flow', fields.CharField(max_length=32)),
                ('step', fields.CharField(max_length=32)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'conversation', 'app': 'outpost', 'pk_attr': 'id', 'table_description': 'The one flow a Telegram account is in (leave request, registration), step by step.'},
            bases=['Model'],
        ),
    ]

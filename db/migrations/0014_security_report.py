from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0013_alerts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SecurityReport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('outpost.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='security_reports', on_delete=OnDelete.CASCADE)),
                ('station', fields.ForeignKeyField('outpost.Station', source_field='station_id', null=True, db_constraint=True, to_field='id', related_name='security_reports', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('text', fields.TextField(unique=False)),
                ('photo_file_id', fields.CharField(null=True, max_length=200)),
                ('lat', fields.FloatField(null=True)),
                ('lon', fields.FloatField(null=True)),
                ('alert', fields.ForeignKeyField('outpost.Alert', source_field='alert_id', null=True, db_constraint=True, to_field='id', related_name='reports', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'security_report', 'app': 'outpost', 'pk_attr': 'id', 'table_description': 'A field security report: what someone saw, with an optional photo and place.'},
            bases=['Model'],
        ),
    ]

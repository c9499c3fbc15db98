"""Users and roles in the portal's language: role names and permission names translated where people read them."""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, User
from django.utils.translation import gettext_lazy as _

from portal import roles


def _translated_choices(field, db_field):
    if db_field.name in ("permissions", "user_permissions"):
        field.label_from_instance = roles.permission_label
        field.queryset = field.queryset.select_related("content_type")
    elif db_field.name == "groups":
        field.label_from_instance = lambda group: roles.role_label(group.name)
    return field


admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(Group)
class RoleAdmin(auth_admin.GroupAdmin):
    list_display = ["role"]

    @admin.display(description=_("role"), ordering="name")
    def role(self, obj):
        return roles.role_label(obj.name)

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        return _translated_choices(super().formfield_for_manytomany(db_field, request, **kwargs), db_field)


class RoleFilter(admin.SimpleListFilter):
    """The user list by role, under the roles' names people read (the groups are named in English, as code)."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(g.pk, roles.role_label(g.name)) for g in Group.objects.order_by("name")]

    def queryset(self, request, queryset):
        return queryset.filter(groups=self.value()) if self.value() and self.value().isdigit() else queryset


@admin.register(User)
class PortalUserAdmin(auth_admin.UserAdmin):
    list_display = ["username", "first_name", "last_name", "role_names", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active", RoleFilter]

    @admin.display(description=_("roles"))
    def role_names(self, obj):
        return "、".join(str(roles.role_label(g.name)) for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        return _translated_choices(super().formfield_for_manytomany(db_field, request, **kwargs), db_field)

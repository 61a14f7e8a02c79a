from django import template

from studio.moderation.forms import ReportForm

register = template.Library()


@register.inclusion_tag("moderation/_report.html", takes_context=True)
def report_button(context, clip):
    """The clip page's "Report" control, for any member of the clip's team."""
    return {"clip": clip, "report_form": ReportForm(), "csrf_token": context.get("csrf_token")}

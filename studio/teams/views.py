from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from studio import throttle
from studio.teams.services import user_signup


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False)


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("project-list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_signup(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            email=form.cleaned_data.get("email") or "",
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("project-list")
    return render(request, "registration/signup.html", {"form": form})


class ThrottledLogin:
    """A login form whose failures count per account and per client address.

    Past either limit the form refuses every attempt, the right password included, until
    the window ends (`retry_after` says when), so guessing gains nothing.
    """

    retry_after: int | None = None

    def _limits(self):
        account, address = throttle.login_limits()
        return [
            (account, self.data.get("username", "")),
            (address, throttle.client_address(self.request)),
        ]

    def clean(self):
        self.retry_after = throttle.blocked(self._limits())
        if self.retry_after is not None:
            raise ValidationError(
                f"Too many failed logins. Try again in {throttle.wait_words(self.retry_after)}, "
                "or ask the studio's administrator to reset your password.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            for limit, subject in self._limits():
                throttle.record_failure(limit, subject)
            raise
        if self.get_user() is not None:
            account, _ = throttle.login_limits()
            throttle.clear(account, self.get_user().get_username())
        return cleaned


class LoginForm(ThrottledLogin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "suspended": "This account is suspended. Ask the studio's administrator to restore it.",
    }

    def get_invalid_login_error(self):
        """A suspended user who knows their password is told so; anyone else is not."""
        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        user = get_user_model()._default_manager.filter(username=username).first()
        if user is not None and not user.is_active and user.check_password(password):
            return ValidationError(self.error_messages["suspended"], code="suspended")
        return super().get_invalid_login_error()


class AdminLoginForm(ThrottledLogin, AdminAuthenticationForm):
    """The admin's login, limited like the studio's (it checks the same passwords)."""


class LoginView(auth_views.LoginView):
    """Django's login with LoginForm; a refused attempt past the limits answers 429."""

    form_class = LoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response

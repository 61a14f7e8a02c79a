from django import forms
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


class LoginForm(AuthenticationForm):
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


class LoginView(auth_views.LoginView):
    """Django's login, with failed attempts limited per account and per client address."""

    form_class = LoginForm

    def _limits(self):
        account, address = throttle.login_limits()
        username = self.request.POST.get("username", "")
        return [(account, username), (address, throttle.client_address(self.request))]

    def post(self, request, *args, **kwargs):
        wait = throttle.blocked(self._limits())
        if wait is not None:
            form = self.form_class(request, initial={"username": request.POST.get("username")})
            message = (
                f"Too many failed logins. Try again in {throttle.wait_words(wait)}, "
                "or ask the studio's administrator to reset your password."
            )
            response = self.render_to_response(
                self.get_context_data(form=form, throttled=message), status=429
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.data.get("username") and form.data.get("password"):
            for limit, subject in self._limits():
                throttle.record_failure(limit, subject)
        return super().form_invalid(form)

    def form_valid(self, form):
        account, _ = throttle.login_limits()
        throttle.clear(account, form.get_user().get_username())
        return super().form_valid(form)

from django.contrib.auth.views import LoginView, LogoutView
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", LoginView.as_view(template_name="oidc_provider/login.html"), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    # authorize/, token/, userinfo/, .well-known/openid-configuration, .well-known/jwks.json, ...
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]

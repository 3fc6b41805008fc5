"""``python -m skyfence.service serve|audit|keys``: the service commands without the top-level CLI."""

from skyfence._console import run_app
from skyfence.service.commands import app

if __name__ == "__main__":
    run_app(app)

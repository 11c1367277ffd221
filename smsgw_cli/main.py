"""The `smsgw` command: its group and entry point."""

from __future__ import annotations

import click

from smsgw_cli.charge import charge
from smsgw_cli.comptes import comptes
from smsgw_cli.envois import envoyer, suivre


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def smsgw() -> None:
    """SMS Gateway en ligne de commande : comptes, envois, suivi, test de charge.

    La passerelle est --url (ou SMSGW_URL, par défaut http://127.0.0.1:8080).
    Commandes client : --cle ou SMSGW_API_KEY. Commandes d'administration :
    --jeton ou SMSGW_ADMIN_TOKEN. --json écrit du JSON pour les scripts.

    Statut de sortie : 0 réussi ; 1 refus de la passerelle (son code d'erreur est
    affiché) ou passerelle injoignable ; 2 usage incorrect ; 3 délai dépassé.
    """


smsgw.add_command(comptes)
smsgw.add_command(envoyer)
smsgw.add_command(suivre)
smsgw.add_command(charge)


def main() -> None:
    smsgw(prog_name="smsgw")

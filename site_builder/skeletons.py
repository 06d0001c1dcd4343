"""Valid starting points for `pantau new`, one per collection (named in its declaration in
``models``): every required field, placeholders to replace.

Every skeleton starts as a draft. ``pantau check`` refuses a published record that still holds
one of its skeleton's placeholders (every text value below with a space in it, except the
real examples in ``EXAMPLES``) or that lists no source.

The values are Indonesian (they are what readers would see); the comments after the values
are notes for whoever fills the record in, written in English here and given in the staff's
language by ``localised`` (the catalogue holds them; see ``comments``)."""

from __future__ import annotations

import re

from .i18n import _

STAGE = """\
---
title: Judul tahapan
phase: penyelenggaraan  # persiapan | penyelenggaraan | pasca
start: 2024-11-27
# end: 2024-11-27      # leave out for a single-day stage
# after:               # instead of dates, for a stage that follows another
#   stage: penetapan-calon-terpilih
#   days: 3            # it ends at most this many days after that one ends
summary: Satu atau dua kalimat tentang apa yang terjadi pada tahapan ini.
monitoring:
  - Yang dipantau tim pada tahapan ini.
divisions: []          # slugs from content/teams/
draft: true            # delete this line to publish, once every field is real and sourced
checked: unchecked     # document | press (both need sources) | unchecked | illustrative
sources: []
#  - title: Nama media, judul berita
#    url: https://...
---
Uraian tahapan dalam Markdown.
"""

TEAM = """\
---
name: Nama divisi
role: divisi           # ketua | sekretariat | divisi
summary: Satu atau dua kalimat tentang tugas divisi ini.
tupoksi:
  - Tugas pokok dan fungsi pertama.
members: []
#  - name: Nama instansi
#    kind: perangkat daerah   # perangkat daerah | aparat keamanan | lembaga
#    role: anggota
draft: true            # delete this line to publish, once every field is real and sourced
checked: unchecked     # document | press | unchecked | illustrative
sources: []
---
Uraian divisi dalam Markdown.
"""

CAMPAIGN = """\
---
title: Judul kampanye
summary: Satu atau dua kalimat tentang kampanye ini.
audience:
  - pemilih pemula
regions:
  - kalimantan-timur   # slugs from content/regions.yaml
organiser: Nama penyelenggara
channels: []
call_to_action: Apa yang diminta dari pembaca.
# action:              # a button under the call to action
#   label: Cek DPT online
#   url: https://cekdptonline.kpu.go.id/
# image:
#   src: poster.webp   # a file under content/media/
#   alt: Apa yang tampak pada poster
draft: true            # delete this line to publish, once every field is real and sourced
checked: unchecked     # document | press | unchecked | illustrative
sources: []
---
Uraian kampanye dalam Markdown.
"""

FINDING = """\
---
title: Judul temuan
observed: 2024-11-27   # when the team observed it
regions:
  - kalimantan-timur   # slugs from content/regions.yaml
# stage: pemungutan-suara  # the stage it belongs to, from content/stages/
category: lainnya      # one of the categories listed below
# politik-uang | netralitas-asn | kampanye-di-luar-jadwal | alat-peraga | logistik
# data-pemilih | keamanan | hoaks | syarat-pencalonan | penyalahgunaan-wewenang | lainnya
summary: Satu atau dua kalimat tentang apa yang diamati tim.
passed_to: []          # bodies it was passed to, e.g. Bawaslu Kaltim
timeline:              # oldest first; the last status is the finding's current status
  - date: 2024-11-27
    status: dilaporkan  # or diteruskan, ditindaklanjuti, selesai, tidak-terbukti, dihentikan
    note: Apa yang terjadi pada tanggal ini.
draft: true            # delete this line to publish, once every field is real and sourced
checked: unchecked     # document | press | unchecked | illustrative
sources: []
---
Uraian temuan dalam Markdown. Sebut lembaga dan pejabat publik dalam jabatannya; jangan
sebut orang pribadi, pelapor, atau saksi, dan jangan cantumkan NIK, nomor telepon, atau
alamat surel.
"""

PAGE = """\
---
title: Judul halaman
draft: true            # delete this line to publish, once every field is real and sourced
checked: unchecked     # document | press | unchecked | illustrative
sources: []
---
Isi halaman dalam Markdown.
"""

#: Values in the skeletons that are real examples a record may keep, not placeholders.
EXAMPLES = frozenset({"pemilih pemula"})


#: A note after a value or a commented-out field: two spaces or more, then '# '.
_COMMENT = re.compile(r"(?<=\S)(\s{2,}# )(.+)$", re.M)


def comments(text: str) -> list[str]:
    """The notes in a skeleton, in order: the messages the catalogue translates."""
    return [match.group(2) for match in _COMMENT.finditer(text)]


def localised(text: str) -> str:
    """A skeleton with its notes in the current language (the values stay as they are)."""
    return _COMMENT.sub(lambda m: m.group(1) + _(m.group(2)), text)

"""Valid starting points for `pantau new`, one per collection (named in its declaration in
``models``): every required field, placeholders to replace.

Every skeleton starts as a draft. ``pantau check`` refuses a published record that still holds
one of its skeleton's placeholders (every text value below with a space in it, except the
real examples in ``EXAMPLES``) or that lists no source."""

from __future__ import annotations

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

SELECT angzarr._edition_first_sequence($1, $2, $3)

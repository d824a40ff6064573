# Prints, for every benchmark of a `go test -bench` output and every metric
# it reports, the median over its runs (-count) and the number of runs.
# Portable awk (no gawk extensions). Used by `make bench-trillian`.
/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	if (!(name in seen)) { seen[name] = 1; order[++names] = name }
	for (i = 3; i < NF; i += 2) {
		key = name SUBSEP $(i + 1)
		if (!(key in count)) { units[name] = units[name] SUBSEP $(i + 1) }
		v[key, ++count[key]] = $i
	}
}
END {
	for (n = 1; n <= names; n++) {
		name = order[n]
		printf "%s\n", name
		m = split(substr(units[name], 2), us, SUBSEP)
		for (u = 1; u <= m; u++) {
			key = name SUBSEP us[u]
			c = count[key]
			for (i = 1; i <= c; i++) s[i] = v[key, i] + 0
			for (i = 2; i <= c; i++) {
				x = s[i]
				for (j = i - 1; j >= 1 && s[j] > x; j--) s[j + 1] = s[j]
				s[j + 1] = x
			}
			med = (c % 2) ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2
			printf "    %-22s median %14.4g   (of %d runs: min %.4g, max %.4g)\n", us[u], med, c, s[1], s[c]
		}
	}
}

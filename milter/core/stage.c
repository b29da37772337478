/*
 * stage.c - what the engine learns from the stage descriptors
 * (stage.h): the built-in symbol names the rules must know.
 */
#include "autoconfig.h"

#include <string.h>

#include "base/util.h"
#include "core/stage.h"

/* stage_symbol_names - the names of every stage's built-ins */
const char **stage_symbol_names(const struct stage *const *list)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; list && list[i]; i++)
		for (const struct stage_symbol *s = list[i]->symbols; s && s->name; s++)
			n++;
	const char **names = xcalloc(n + 1, sizeof(*names));
	for (size_t i = 0; list && list[i]; i++)
		for (const struct stage_symbol *s = list[i]->symbols; s && s->name; s++)
			names[k++] = s->name;
	return names;
}

/* stage_symbol_desc - a built-in's description from its descriptor */
const char *stage_symbol_desc(const struct stage *const *list, const char *name)
{
	for (size_t i = 0; list && list[i]; i++)
		for (const struct stage_symbol *s = list[i]->symbols; s && s->name; s++)
			if (strcmp(s->name, name) == 0)
				return s->desc;
	return NULL;
}

/* Build-time settings of the plug-in: the gettext domain and where its catalogues are
 * (GETTEXT_PACKAGE and CASCADE_LOCALEDIR come from ui/'s compile arguments, shared with
 * the dialog so both translate through one domain). */
#ifndef CASCADE_CONFIG_PLUGIN_H
#define CASCADE_CONFIG_PLUGIN_H

#ifndef GETTEXT_PACKAGE
#define GETTEXT_PACKAGE "gimp-cascade"
#endif
#ifndef CASCADE_LOCALEDIR
#define CASCADE_LOCALEDIR "/usr/share/locale"
#endif

#endif

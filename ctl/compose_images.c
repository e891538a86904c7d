/* The table of official images: ENTRYPOINT/CMD as their Dockerfiles set them,
 * and the variables their entrypoints read from VAR_FILE. Each _FILE list is
 * the one the image's documentation gives ("Currently, this is only
 * supported for ..." in docker-library/docs and the images' own docs). */
#include "compose_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGE_REF_MAX 512

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EMPTY ((const char *const[]){NULL})

static const char *const postgres_files[] = {"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB",
                                             "POSTGRES_INITDB_ARGS", NULL};
static const char *const mysql_files[] = {"MYSQL_ROOT_PASSWORD", "MYSQL_ROOT_HOST",
                                          "MYSQL_DATABASE",      "MYSQL_USER",
                                          "MYSQL_PASSWORD",      NULL};
static const char *const mariadb_files[] = {"MARIADB_ROOT_PASSWORD",
                                            "MARIADB_ROOT_PASSWORD_HASH",
                                            "MARIADB_ROOT_HOST",
                                            "MARIADB_DATABASE",
                                            "MARIADB_USER",
                                            "MARIADB_PASSWORD",
                                            "MARIADB_PASSWORD_HASH",
                                            "MYSQL_ROOT_PASSWORD",
                                            "MYSQL_ROOT_HOST",
                                            "MYSQL_DATABASE",
                                            "MYSQL_USER",
                                            "MYSQL_PASSWORD",
                                            NULL};
static const char *const mongo_files[] = {"MONGO_INITDB_ROOT_USERNAME",
                                          "MONGO_INITDB_ROOT_PASSWORD", NULL};
static const char *const wordpress_files[] = {
    "WORDPRESS_DB_HOST",          "WORDPRESS_DB_USER",        "WORDPRESS_DB_PASSWORD",
    "WORDPRESS_DB_NAME",          "WORDPRESS_AUTH_KEY",       "WORDPRESS_SECURE_AUTH_KEY",
    "WORDPRESS_LOGGED_IN_KEY",    "WORDPRESS_NONCE_KEY",      "WORDPRESS_AUTH_SALT",
    "WORDPRESS_SECURE_AUTH_SALT", "WORDPRESS_LOGGED_IN_SALT", "WORDPRESS_NONCE_SALT",
    "WORDPRESS_TABLE_PREFIX",     "WORDPRESS_DEBUG",          NULL};
static const char *const nextcloud_files[] = {"NEXTCLOUD_ADMIN_PASSWORD",
                                              "NEXTCLOUD_ADMIN_USER",
                                              "MYSQL_DATABASE",
                                              "MYSQL_PASSWORD",
                                              "MYSQL_USER",
                                              "POSTGRES_DB",
                                              "POSTGRES_PASSWORD",
                                              "POSTGRES_USER",
                                              "REDIS_HOST_PASSWORD",
                                              "SMTP_PASSWORD",
                                              "OBJECTSTORE_S3_KEY",
                                              "OBJECTSTORE_S3_SECRET",
                                              NULL};
static const char *const joomla_files[] = {"JOOMLA_DB_PASSWORD", NULL};
/* elasticsearch's docker-entrypoint.sh: "for VAR_NAME_FILE in
 * ELASTIC_PASSWORD_FILE KEYSTORE_PASSWORD_FILE". */
static const char *const elasticsearch_files[] = {"ELASTIC_PASSWORD", "KEYSTORE_PASSWORD", NULL};

/* "fpm" variants of the PHP application images run php-fpm, not apache. */
static bool tag_fpm(const char *tag)
{
	return strstr(tag, "fpm") != NULL;
}

/* mariadb switched its CMD from mysqld to mariadbd with 10.6 (10.5's
 * Dockerfile ends with CMD ["mysqld"]). */
static bool tag_mariadb_old(const char *tag)
{
	char *end;
	long major = strtol(tag, &end, 10);
	if (end == tag)
		return false;
	if (major < 10)
		return true;
	if (major > 10 || *end != '.')
		return false;
	long minor = strtol(end + 1, &end, 10);
	return minor <= 5;
}

static const struct compose_image images[] = {
    {"postgres", NULL, LIST("docker-entrypoint.sh"), LIST("postgres"), postgres_files},
    {"mysql", NULL, LIST("docker-entrypoint.sh"), LIST("mysqld"), mysql_files},
    {"percona", NULL, LIST("docker-entrypoint.sh"), LIST("mysqld"), mysql_files},
    {"mariadb", tag_mariadb_old, LIST("docker-entrypoint.sh"), LIST("mysqld"), mariadb_files},
    {"mariadb", NULL, LIST("docker-entrypoint.sh"), LIST("mariadbd"), mariadb_files},
    {"mongo", NULL, LIST("docker-entrypoint.sh"), LIST("mongod"), mongo_files},
    {"wordpress", tag_fpm, LIST("docker-entrypoint.sh"), LIST("php-fpm"), wordpress_files},
    {"wordpress", NULL, LIST("docker-entrypoint.sh"), LIST("apache2-foreground"), wordpress_files},
    {"nextcloud", tag_fpm, LIST("/entrypoint.sh"), LIST("php-fpm"), nextcloud_files},
    {"nextcloud", NULL, LIST("/entrypoint.sh"), LIST("apache2-foreground"), nextcloud_files},
    {"joomla", tag_fpm, LIST("/entrypoint.sh"), LIST("php-fpm"), joomla_files},
    {"joomla", NULL, LIST("/entrypoint.sh"), LIST("apache2-foreground"), joomla_files},
    {"elasticsearch", NULL, LIST("/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"),
     LIST("eswrapper"), elasticsearch_files},
    /* No _FILE support, but a known entrypoint for inject to wrap. */
    {"redis", NULL, LIST("docker-entrypoint.sh"), LIST("redis-server"), EMPTY},
    {"rabbitmq", NULL, LIST("docker-entrypoint.sh"), LIST("rabbitmq-server"), EMPTY},
    {"memcached", NULL, LIST("docker-entrypoint.sh"), LIST("memcached"), EMPTY},
    {"nginx", NULL, LIST("/docker-entrypoint.sh"), LIST("nginx", "-g", "daemon off;"), EMPTY},
    {"httpd", NULL, EMPTY, LIST("httpd-foreground"), EMPTY},
    {"traefik", NULL, LIST("/entrypoint.sh"), LIST("traefik"), EMPTY},
    {"ghost", NULL, LIST("docker-entrypoint.sh"), LIST("node", "current/index.js"), EMPTY},
    {"node", NULL, LIST("docker-entrypoint.sh"), LIST("node"), EMPTY},
    {"python", NULL, EMPTY, LIST("python3"), EMPTY},
    {"php", tag_fpm, LIST("docker-php-entrypoint"), LIST("php-fpm"), EMPTY},
    {"drupal", tag_fpm, LIST("docker-php-entrypoint"), LIST("php-fpm"), EMPTY},
    {"drupal", NULL, LIST("docker-php-entrypoint"), LIST("apache2-foreground"), EMPTY},
};

/* Splits ref into the official repository name and its tag ("latest" when
 * none). False when ref is not on Docker Hub's library. */
static bool split_ref(const char *ref, char *repo, size_t repocap, char *tag, size_t tagcap)
{
	static const char *const hubs[] = {"docker.io/", "index.docker.io/",
	                                   "registry-1.docker.io/", NULL};
	char buf[IMAGE_REF_MAX];
	if (snprintf(buf, sizeof(buf), "%s", ref) >= (int)sizeof(buf))
		return false;
	char *at = strchr(buf, '@');
	if (at)
		*at = '\0';
	char *name = buf;
	for (const char *const *h = hubs; *h; h++)
		if (strncmp(name, *h, strlen(*h)) == 0) {
			name += strlen(*h);
			break;
		}
	if (strncmp(name, "library/", 8) == 0)
		name += 8;
	if (strchr(name, '/'))
		return false; /* another namespace or registry */
	char *colon = strchr(name, ':');
	const char *t = "latest";
	if (colon) {
		*colon = '\0';
		t = colon + 1;
	}
	return snprintf(repo, repocap, "%s", name) < (int)repocap &&
	       snprintf(tag, tagcap, "%s", t) < (int)tagcap;
}

const struct compose_image *compose_image_find(const char *ref)
{
	char repo[IMAGE_REF_MAX], tag[IMAGE_REF_MAX];
	if (!ref || !split_ref(ref, repo, sizeof(repo), tag, sizeof(tag)))
		return NULL;
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		if (strcmp(images[i].repo, repo) != 0)
			continue;
		if (!images[i].tag_match || images[i].tag_match(tag))
			return &images[i];
	}
	return NULL;
}

bool compose_image_reads_file(const struct compose_image *img, const char *var)
{
	if (!img)
		return false;
	for (const char *const *v = img->file_vars; *v; v++)
		if (strcmp(*v, var) == 0)
			return true;
	return false;
}

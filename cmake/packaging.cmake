# cmake/packaging.cmake - the files no component directory installs (man
# pages, docs, the example configuration) and the Debian package (CPack).
# Included last by the top CMakeLists.txt: include (CPack) must come after
# every install () rule, and the subdirectories before it install the
# programs, the library, the headers, zmgr.pc and the systemd unit.
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build
#   cd build && cpack                  # zmgr_0.1.0-1_amd64.deb
#
# Paths are fixed when CMake configures: zmgr.pc, the unit's ExecStart and
# zmgrd's default worker path name CMAKE_INSTALL_PREFIX, so the package
# installs under that same prefix (/usr/local unless told otherwise; /usr
# for a system package) and `cmake --install --prefix` should name it too.

# ---- man pages, docs, example configuration --------------------------------

add_subdirectory (${PROJECT_SOURCE_DIR}/man ${PROJECT_BINARY_DIR}/man)

install (FILES
    ${PROJECT_SOURCE_DIR}/README.md
    ${PROJECT_SOURCE_DIR}/docs/install.md
    ${PROJECT_SOURCE_DIR}/docs/deploy.md
    ${PROJECT_SOURCE_DIR}/proto/PROTOCOL.md
    ${PROJECT_SOURCE_DIR}/client/cli/CLI.md
    DESTINATION ${CMAKE_INSTALL_DOCDIR})
if (EXISTS ${PROJECT_SOURCE_DIR}/examples/modules/double.c)
    install (FILES ${PROJECT_SOURCE_DIR}/examples/modules/double.c
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
endif ()
if (EXISTS ${PROJECT_SOURCE_DIR}/examples/clients/inventory.c)
    install (FILES ${PROJECT_SOURCE_DIR}/examples/clients/inventory.c
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
endif ()

# The example configuration, when examples/ has one: to the FULL sysconfdir,
# which GNUInstallDirs maps to /etc for the /usr prefix (the relative
# CMAKE_INSTALL_SYSCONFDIR would give /usr/etc there). Never the live
# zmgrd.conf: that file is the operator's. A file that appears later is
# picked up because CMake re-runs when examples/ changes.
set (ZMGR_EXAMPLE_CONF ${PROJECT_SOURCE_DIR}/examples/zmgrd.conf)
set_property (DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/examples)
if (EXISTS ${ZMGR_EXAMPLE_CONF})
    install (FILES ${ZMGR_EXAMPLE_CONF}
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/zmgr
        RENAME zmgrd.conf.example)
    # And with the docs, where install.md says it is too: the one under
    # /etc is a conffile the operator may edit; this one stays as shipped.
    install (FILES ${ZMGR_EXAMPLE_CONF}
        DESTINATION ${CMAKE_INSTALL_DOCDIR}
        RENAME zmgrd.conf.example)
endif ()

# ---- the Debian package -----------------------------------------------------

set (CPACK_GENERATOR DEB)
set (CPACK_PACKAGE_NAME zmgr)
set (CPACK_PACKAGE_VENDOR "zmgr developers")
set (CPACK_PACKAGE_CONTACT "zmgr developers")
set (CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set (CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "shared objects and a job pool over ZeroMQ (Python's Manager and Pool in C)")
set (CPACK_PACKAGE_DESCRIPTION
"zmgr is Python's multiprocessing Manager and Pool as a service in C.
The broker zmgrd holds named lists, dicts, queues, values, locks and pipes
that any process reaches over ZeroMQ, and runs jobs on supervised worker
processes (zmgr-worker) with priorities, retries and results.
.
This package holds the broker, its systemd unit, the zmgr command-line
client, the worker, and the C library libzmgr with its headers and
pkg-config file.")
# Install under the prefix the configured files name (see the top).
set (CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# Absolute destinations (the example configuration under /etc) go into the
# package only through DESTDIR.
set (CPACK_SET_DESTDIR ON)
if (NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    message (STATUS "cpack: the .deb installs under ${CMAKE_INSTALL_PREFIX}; "
        "configure with -DCMAKE_INSTALL_PREFIX=/usr for a system package")
endif ()

set (CPACK_DEBIAN_PACKAGE_NAME zmgr)
set (CPACK_DEBIAN_PACKAGE_MAINTAINER "zmgr developers")
set (CPACK_DEBIAN_PACKAGE_SECTION net)
set (CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set (CPACK_DEBIAN_PACKAGE_RELEASE 1)
set (CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # zmgr_0.1.0-1_amd64.deb
# A shlibs file, so that packages built against libzmgr.so.0 depend on us.
set (CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set (CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

# Depends: computed by dpkg-shlibdeps (dpkg-dev) from what the binaries
# link; without it, the Debian 12 runtime packages by name.
find_program (ZMGR_DPKG_SHLIBDEPS dpkg-shlibdeps)
mark_as_advanced (ZMGR_DPKG_SHLIBDEPS)
if (ZMGR_DPKG_SHLIBDEPS)
    set (CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else ()
    set (ZMGR_DEB_DEPENDS libzmq5 libmsgpackc2 libjansson4 libinih1)
    if (ZMGR_HAVE_SYSTEMD)
        list (APPEND ZMGR_DEB_DEPENDS libsystemd0)
    endif ()
    list (JOIN ZMGR_DEB_DEPENDS ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
endif ()
# zmgr.pc requires libzmq and msgpack (privately): building a program
# against libzmgr with pkg-config needs their -dev packages.
set (CPACK_DEBIAN_PACKAGE_SUGGESTS "pkg-config, libzmq3-dev, libmsgpack-dev")

# Maintainer scripts: the unit's user (systemd-sysusers), ldconfig and
# systemctl daemon-reload; a conffiles list for what goes under /etc (dpkg
# keeps an operator's edits there).
if (DEFINED ZMGR_SYSUSERSDIR)   # systemd/CMakeLists.txt
    set (ZMGR_DEB_SYSUSERS ${ZMGR_SYSUSERSDIR}/zmgr.conf)
else ()
    set (ZMGR_DEB_SYSUSERS ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d/zmgr.conf)
endif ()
configure_file (${PROJECT_SOURCE_DIR}/cmake/deb/postinst.in ${PROJECT_BINARY_DIR}/cpack/postinst
    @ONLY)
set (ZMGR_DEB_CONTROL ${PROJECT_BINARY_DIR}/cpack/postinst
    ${PROJECT_SOURCE_DIR}/cmake/deb/prerm ${PROJECT_SOURCE_DIR}/cmake/deb/postrm)
set (ZMGR_DEB_CONFFILES "")
if (EXISTS ${ZMGR_EXAMPLE_CONF} AND CMAKE_INSTALL_FULL_SYSCONFDIR MATCHES "^/etc(/|$)")
    string (APPEND ZMGR_DEB_CONFFILES "${CMAKE_INSTALL_FULL_SYSCONFDIR}/zmgr/zmgrd.conf.example\n")
endif ()
if (ZMGR_DEB_CONFFILES)
    file (WRITE ${PROJECT_BINARY_DIR}/cpack/conffiles "${ZMGR_DEB_CONFFILES}")
    list (APPEND ZMGR_DEB_CONTROL ${PROJECT_BINARY_DIR}/cpack/conffiles)
else ()
    file (REMOVE ${PROJECT_BINARY_DIR}/cpack/conffiles)
endif ()
set (CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${ZMGR_DEB_CONTROL}")
set (CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# `make package_source`: the tree without build directories and caches.
set (CPACK_SOURCE_GENERATOR TGZ)
set (CPACK_SOURCE_IGNORE_FILES "/[.]git/" "/build[^/]*/" "/__pycache__/" "[.]swp$")

include (CPack)

# What `cmake --install` puts beside the programs (src/cmd installs those and
# the plate character model): the example configs for an installed service,
# the contracts, the systemd units and their system users, the runbook.
include(GNUInstallDirs)

set(LANEVAULT_SYSTEMD_UNIT_DIR lib/systemd/system
    CACHE STRING "Where the systemd units are installed (under the prefix)")
set(LANEVAULT_SYSUSERS_DIR lib/sysusers.d
    CACHE STRING "Where the sysusers.d file for the daemons' users goes (under the prefix)")

# The units name the installed programs: set CMAKE_INSTALL_PREFIX when
# configuring (`cmake --install --prefix` moves the files, not ExecStart=).
set(SBINDIR ${CMAKE_INSTALL_FULL_SBINDIR})
set(DOCDIR ${CMAKE_INSTALL_FULL_DOCDIR})
foreach(unit lanevaultd lanevault-lane lanevault-witness)
  configure_file(${PROJECT_SOURCE_DIR}/deploy/systemd/${unit}.service.in
                 ${PROJECT_BINARY_DIR}/deploy/systemd/${unit}.service @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/deploy/systemd/${unit}.service
          DESTINATION ${LANEVAULT_SYSTEMD_UNIT_DIR})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/lanevault.sysusers.conf
        DESTINATION ${LANEVAULT_SYSUSERS_DIR} RENAME lanevault.conf)

install(FILES ${PROJECT_SOURCE_DIR}/deploy/config/installed/lanevaultd.textproto
              ${PROJECT_SOURCE_DIR}/deploy/config/installed/lanevault-lane.textproto
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lanevault/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/contracts/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lanevault/contracts
        FILES_MATCHING PATTERN "*.textproto")
install(PROGRAMS ${PROJECT_SOURCE_DIR}/deploy/pki/make-dev-pki.sh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lanevault/examples)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/RUNBOOK.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
